/**
 * The trainer's stderr log lines, as Python's logging writes them (trainer/distillery_trainer/cli.py:
 * "<date> <time> LEVEL logger: message"). Most are detail for --verbose or debug logs; warnings
 * tell the user something about their input (tensors of the teacher that were ignored, a
 * capitalised vocabulary read as uncased) and must reach them without asking.
 */

const LOG_LINE = /^\d{4}-\d{2}-\d{2} [\d:,]+ WARNING [\w.]+: (.*)$/;

/** The message of a trainer warning line (errors come as protocol events), without time and logger; null for other lines. */
export function trainerWarning(line: string): string | null {
  const match = LOG_LINE.exec(line);
  return match ? (match[1] as string) : null;
}
