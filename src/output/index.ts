export { FileSetWriter } from './file-set-writer.ts';
export { OutputError, fileNameProblem, type FileWriter, type OutputFile, type WriteOptions } from './files.ts';
export type { FileLayout } from './layout.ts';
export { checkOutputDirectory } from './dir-check.ts';
export { replaceFile } from './single-file.ts';
