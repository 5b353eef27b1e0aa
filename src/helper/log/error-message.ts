/** What a caught value says, for a log line or a one-line message: its message when it is an Error. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A caught value as an Error, for the callbacks that take one. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
