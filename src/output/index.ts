export { FileSetWriter, OutputError, type OutputFile } from './file-set-writer.ts';
