// Trimming slashes by a loop: `s.replace(/\/+$/, "")` retries its run from every slash and is quadratic on
// "a////…//b", which user-supplied artifact locations and paths can be (issue 17).

const SLASH = 47;

export function trimTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === SLASH) end--;
  return s.slice(0, end);
}

export function trimSlashes(s: string): string {
  let start = 0;
  while (start < s.length && s.charCodeAt(start) === SLASH) start++;
  return trimTrailingSlashes(s.slice(start));
}
