export { FileSetWriter } from './file-set-writer.ts';
export { OutputError, fileNameProblem, type FileWriter, type OutputFile, type WriteOptions } from './files.ts';
export type { FileLayout } from './layout.ts';
export { directoryTrustWarning } from './dir-trust.ts';
export { replaceFile } from './single-file.ts';
