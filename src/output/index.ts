export { FileSetWriter, OutputError, type OutputFile } from './file-set-writer.ts';
export { replaceFile } from './single-file.ts';
