export { FileSetWriter } from './file-set-writer.ts';
export { OutputError, type FileWriter, type OutputFile, type WriteOptions } from './files.ts';
export { fileNameProblem } from './file-name.ts';
export type { FileLayout } from './layout.ts';
export { checkOutputDirectory } from './dir-check.ts';
export { replaceFile } from './single-file.ts';
