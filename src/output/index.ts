export { FileSetWriter, OutputError, fileNameProblem, type OutputFile, type WriteOptions } from './file-set-writer.ts';
export { replaceFile } from './single-file.ts';
