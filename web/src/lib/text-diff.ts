/** A run of text that both versions share, or that only one of them has. */
export type DiffPart = { kind: "same" | "removed" | "added"; text: string };

/** Words with the spaces after them, so that joining the parts gives the text back. */
function tokens(text: string): string[] {
  return text.match(/\s+|[^\s]+\s*/g) ?? [];
}

/** Beyond this many tokens on both sides, the comparison would be slow: show both whole. */
const MAX_CELLS = 250_000;

/**
 * How `before` became `after`, word by word (longest common subsequence), with
 * neighbouring parts of one kind joined. Very long texts come back as one removal and one
 * addition.
 */
export function diffWords(before: string, after: string): DiffPart[] {
  const a = tokens(before);
  const b = tokens(after);
  if (a.length * b.length > MAX_CELLS) {
    return join([
      { kind: "removed", text: before },
      { kind: "added", text: after },
    ]);
  }
  // lengths[i][j]: the longest common run of a[i..] and b[j..].
  const width = b.length + 1;
  const lengths = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? lengths[(i + 1) * width + j + 1]! + 1
          : Math.max(lengths[(i + 1) * width + j]!, lengths[i * width + j + 1]!);
    }
  }
  const parts: DiffPart[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      parts.push({ kind: "same", text: a[i]! });
      i += 1;
      j += 1;
    } else if (lengths[(i + 1) * width + j]! >= lengths[i * width + j + 1]!) {
      parts.push({ kind: "removed", text: a[i]! });
      i += 1;
    } else {
      parts.push({ kind: "added", text: b[j]! });
      j += 1;
    }
  }
  for (; i < a.length; i += 1) parts.push({ kind: "removed", text: a[i]! });
  for (; j < b.length; j += 1) parts.push({ kind: "added", text: b[j]! });
  return join(parts);
}

function join(parts: DiffPart[]): DiffPart[] {
  const joined: DiffPart[] = [];
  for (const part of parts) {
    if (part.text === "") continue;
    const last = joined[joined.length - 1];
    if (last && last.kind === part.kind) last.text += part.text;
    else joined.push({ ...part });
  }
  return joined;
}
