// `--readme`: the run's table goes between the markers in docs/performance.md, replacing what was there.

export const START = "<!-- bench:start -->";
export const END = "<!-- bench:end -->";

export function replaceBlock(text: string, block: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`the page has no ${START} ... ${END} block`);
  return `${text.slice(0, start + START.length)}\n${block.trim()}\n${text.slice(end)}`;
}
