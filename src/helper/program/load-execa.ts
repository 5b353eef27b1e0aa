import type * as Execa from 'execa';

let loading: Promise<typeof Execa> | undefined;

/**
 * execa, loaded on first use: it and the builtins it pulls in (child_process, tty, …) cost a few MB
 * that a daemon without a program or a reload command never needs.
 */
export function loadExeca(): Promise<typeof Execa> {
  loading ??= import('execa');
  return loading;
}
