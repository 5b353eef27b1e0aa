import { DirHandle } from './dir-handle.ts';
import { directoryTrustWarning } from './dir-trust.ts';

/**
 * What the host checks learn about an output directory before anything starts: why the writer can
 * never open it (a link on the way that it will not follow, a file in its place), and the warning a
 * root helper gives when another user can change it. A directory still missing is no problem: the
 * writer makes it.
 */
export function checkOutputDirectory(dir: string): { readonly problem: string | undefined; readonly warning: string | undefined } {
  let problem: string | undefined;
  try {
    DirHandle.open(dir).close();
  } catch (error) {
    const message = (error as Error).message;
    problem = message.endsWith(' is missing') ? undefined : message;
  }
  return { problem, warning: directoryTrustWarning(dir) };
}
