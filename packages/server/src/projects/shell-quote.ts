// POSIX shell quoting with Python's shlex.quote rule, the one MLflow applies to every parameter value:
// words made only of safe characters stay as they are, anything else is wrapped in single quotes, and
// each embedded single quote is closed, emitted in double quotes and reopened. Inside single quotes the
// shell expands nothing ($, `, \, newlines and ; are all literal), so the value reaches the program
// exactly as given.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** The shell word that stands for exactly `value` in bash/sh. */
export function shellQuote(value: string): string {
  if (value === '') return "''";
  if (SAFE.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}
