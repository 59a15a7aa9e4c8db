// SQL LIKE / ILIKE matching ('%' any run, '_' one character) without a regular expression: a pattern such as
// '%a%a%a...b' made the regex it replaces backtrack for minutes (issue 17). This is the greedy wildcard match:
// each segment between '%'s is found at its leftmost place, which is enough for a LIKE pattern, so the work is at
// most value length × segment length instead of exponential.

/** Does `value` (from `at`) start with `seg`, where '_' in seg stands for any one character? */
function segmentAt(value: string, at: number, seg: string): boolean {
  if (at + seg.length > value.length) return false;
  for (let i = 0; i < seg.length; i++) {
    const p = seg[i];
    if (p !== "_" && p !== value[at + i]) return false;
  }
  return true;
}

export function likeMatch(value: string, pattern: string, insensitive: boolean): boolean {
  const v = insensitive ? value.toLowerCase() : value;
  const segments = (insensitive ? pattern.toLowerCase() : pattern).split("%");
  const first = segments[0] ?? "";
  if (segments.length === 1) return v.length === first.length && segmentAt(v, 0, first);
  const last = segments[segments.length - 1] ?? "";
  if (first.length + last.length > v.length || !segmentAt(v, 0, first) || !segmentAt(v, v.length - last.length, last)) return false;
  let at = first.length;
  const end = v.length - last.length;
  for (let s = 1; s < segments.length - 1; s++) {
    const seg = segments[s] ?? "";
    let found = -1;
    for (let i = at; i + seg.length <= end; i++) {
      if (segmentAt(v, i, seg)) { found = i; break; }
    }
    if (found < 0) return false;
    at = found + seg.length;
  }
  return true;
}
