export { FileSetWriter, OutputError, type OutputFile, type WriteOptions } from './file-set-writer.ts';
export { fileNameProblem } from './file-name.ts';
export { replaceFile } from './single-file.ts';
