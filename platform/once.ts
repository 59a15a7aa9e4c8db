// once(): a value built on its first read, then kept. For zod schemas that most cold starts never use (style: lazy, not at import).

/** `build` runs on the first call only; every call returns that first result. */
export const once = <T>(build: () => T): (() => T) => {
  let built: T | undefined;
  return () => (built ??= build());
};
