// Small shared pieces: CSRF field, field errors, badges, pager, times, key-value tables.
import type { Child, FC } from "hono/jsx";

export type FieldErrors = Readonly<Record<string, readonly string[]>>;

export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

/** Messages for one field, shown right under it. */
export const FieldError: FC<{ errors: FieldErrors; name: string }> = ({ errors, name }) => {
  const list = errors[name];
  if (!list?.length) return null;
  return (
    <>
      {list.map((m) => (
        <p class="field-error" data-field={name}>
          {m}
        </p>
      ))}
    </>
  );
};

export const Field: FC<{ errors: FieldErrors; name: string; label: string; children?: Child; hint?: string }> = (p) => (
  <div class={p.errors[p.name]?.length ? "field invalid" : "field"}>
    <label for={p.name}>{p.label}</label>
    {p.children}
    {p.hint ? <small class="muted">{p.hint}</small> : null}
    <FieldError errors={p.errors} name={p.name} />
  </div>
);

/** Errors that belong to no single field. */
export const FormErrors: FC<{ errors: FieldErrors; shown: readonly string[] }> = ({ errors, shown }) => {
  const rest = Object.entries(errors).filter(([k]) => !shown.includes(k));
  if (!rest.length) return null;
  return (
    <div class="errors" role="alert">
      {rest.map(([k, msgs]) => msgs.map((m) => <p>{k === "(root)" ? m : `${k}: ${m}`}</p>))}
    </div>
  );
};

export const Badge: FC<{ value: string }> = ({ value }) => <span class={`badge ${value.toLowerCase()}`}>{value.toLowerCase()}</span>;

export function fmtTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function fmtDuration(from: number | undefined, to: number | undefined): string {
  if (from === undefined) return "";
  const s = Math.max(0, Math.round(((to ?? Date.now()) - from) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function fmtNum(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return v === undefined ? "" : String(v);
  if (Number.isInteger(v)) return String(v);
  // Four decimals at most, without trailing zeros (0.92, not 0.9200).
  return Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toExponential(3) : String(Number(v.toFixed(4)));
}

/** Offset pager: previous/next links keeping the other query parameters. */
export const Pager: FC<{ base: string; query: Record<string, string | undefined>; offset: number; limit: number; hasMore: boolean; total?: number | undefined }> = (p) => {
  const link = (offset: number): string => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(p.query)) if (v !== undefined && v !== "") q.set(k, v);
    q.set("offset", String(offset));
    q.set("limit", String(p.limit));
    return `${p.base}?${q.toString()}`;
  };
  return (
    <div class="pager">
      {p.offset > 0 ? <a href={link(Math.max(0, p.offset - p.limit))} rel="prev">← Previous</a> : <span class="muted">← Previous</span>}
      <span class="muted">
        {p.offset + 1}–{p.offset + p.limit}
        {p.total !== undefined ? ` of ${p.total}` : ""}
      </span>
      {p.hasMore ? <a href={link(p.offset + p.limit)} rel="next">Next →</a> : <span class="muted">Next →</span>}
    </div>
  );
};

export const KeyValues: FC<{ entries: readonly (readonly [string, Child])[] }> = ({ entries }) => (
  <table class="kv">
    <tbody>
      {entries.map(([k, v]) => (
        <tr>
          <th>{k}</th>
          <td>{v}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

/** Parse a bounded integer query parameter. */
export function intParam(raw: string | undefined, dflt: number, min: number, max: number): number {
  const n = raw === undefined ? NaN : Number.parseInt(raw, 10);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, n));
}
