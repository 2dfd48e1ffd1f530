/**
 * The most characters of one line a script prints or logs that reach the run's log: the rest of a
 * longer line is dropped, and the line says how much. A line is held in the host until it ends, so an
 * unbounded one (megabytes printed with no line break) would grow the host's memory without end,
 * and past V8's longest string (512 MB) throw in the host's stream handler and end the host.
 */
export const MAX_LINE_CHARS = 16 * 1024;

export const cutNote = (kept: string, dropped: number) =>
  `${kept}… (line cut: ${dropped} more characters not kept)`;

/**
 * Where to cut `text` after at most `chars` of its UTF-16 units from `from`: one less when the cut
 * would split a surrogate pair (an emoji), whose lone half would reach the log as U+FFFD.
 */
export function cutAt(text: string, from: number, chars: number): number {
  const end = from + chars;
  if (end <= from || end >= text.length) return Math.min(end, text.length);
  const last = text.charCodeAt(end - 1);
  return last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

/**
 * A line the script logged through `ctx.logger`, held to MAX_LINE_CHARS as printed lines are. Cut in
 * the script's process before it is sent: sent whole, a line of hundreds of MB reached the host
 * (a 512 MB line grew the host by 1.6 GB for a moment), and the host is shared by every run.
 */
export function cutLine(text: string): string {
  if (text.length <= MAX_LINE_CHARS) return text;
  const end = cutAt(text, 0, MAX_LINE_CHARS);
  return cutNote(text.slice(0, end), text.length - end);
}

/** Room for the note `cutLine` adds: a line its process cut already is not cut again by the host. */
const NOTE_ROOM = 64;

/** A logged line as the host receives it: cut in its process already, unless sent some other way. */
export const cutReceived = (text: string) =>
  text.length <= MAX_LINE_CHARS + NOTE_ROOM ? text : cutLine(text);
