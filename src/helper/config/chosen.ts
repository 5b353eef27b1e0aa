/**
 * A default worth saying because users disagree about it: picked from the other keys it is about
 * (cmd_exit from how the program is told of a rotation), from what cert_dir holds (file_layout for a
 * database's data directory), or open where some expect it closed (the listener on every interface). The user did not write it, so the helper says it: one log line at
 * start, one line in `-check`. A default never depends on keys it is not about.
 */
export interface ChosenDefault {
  /** The key path, as it would be written: `cmd_exit`, `health_checks.bind_address`. */
  readonly key: string;
  /** As it would be written in the config: `"rerun"`. */
  readonly value: string;
  /** Why this value, and how to choose another where that matters. */
  readonly why: string;
}

export const describeChosen = (chosen: ChosenDefault): string => `${chosen.key} = ${chosen.value}: ${chosen.why}`;
