/** Linux's NAME_MAX: the longest file name, in bytes, a directory entry can have. */
const NAME_MAX = 255;

/**
 * Why `name` cannot be one file of a set, or undefined when it can: the one file-name rule, checked
 * by the config at load (with the key and line) and by the writer at each write (for names that come
 * from the agent, such as a federated trust domain's). No directories, and nothing the writer uses
 * itself (".", the "..data" link and the "..<generation>" folders).
 */
export function fileNameProblem(name: string): string | undefined {
  if (name.includes('/')) return `${JSON.stringify(name)} must be a plain file name inside cert_dir (no "/")`;
  if (name.includes('\0')) return `${JSON.stringify(name)} contains a NUL byte`;
  if (name === '' || name === '.' || name.startsWith('..')) return `${JSON.stringify(name)} is not a usable file name (".", and names starting with "..", are reserved)`;
  return nameLengthProblem(name);
}

/** Why a file name is too long for a directory entry, or undefined. */
export function nameLengthProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name);
  return bytes > NAME_MAX ? `the file name ${JSON.stringify(`${name.slice(0, 40)}…`)} is ${bytes} bytes long; at most ${NAME_MAX} fit` : undefined;
}
