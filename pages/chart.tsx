// Server-rendered SVG charts: line charts with real axes (ticks, labels, a second y axis, final values, downsampling
// that keeps every step's shape) and a bar chart (drift scores).
import type { FC } from "hono/jsx";

export interface Series {
  readonly name: string;
  readonly points: readonly { x: number; y: number }[];
  /** Draw against the right-hand axis (e.g. accuracy 0..1 next to a loss axis). */
  readonly right?: boolean | undefined;
}

export const COLORS = ["#2457c5", "#c62828", "#1a7f37", "#a15c00", "#6a3fb5", "#00838f"] as const;
const W = 640;
const H = 260;
const PAD = { l: 56, r: 56, t: 26, b: 40 };
/** At most this many points per series are drawn; the rest is folded into min/max per bucket. */
export const MAX_DRAWN = 400;

export function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) {
    // One value (or a flat line): an axis around it, from 0 when it is positive, so the point is visible and honest.
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    return lo >= 0 && lo <= 1 ? [0, Math.max(1, lo)] : [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/** "Nice" tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  // Integer multiples of the step, rounded: 0.6, not 0.6000000000000001.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

/**
 * Min/max per bucket: a long series drawn with at most ~MAX_DRAWN points and every spike kept (not truncated: the
 * first and last points are always in).
 */
export function downsample(points: readonly { x: number; y: number }[], max = MAX_DRAWN): { x: number; y: number }[] {
  if (points.length <= max) return [...points];
  const buckets = Math.floor(max / 2);
  const size = points.length / buckets;
  const out: { x: number; y: number }[] = [];
  for (let b = 0; b < buckets; b++) {
    const slice = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (!slice.length) continue;
    let lo = slice[0];
    let hi = slice[0];
    for (const p of slice) {
      if (lo && p.y < lo.y) lo = p;
      if (hi && p.y > hi.y) hi = p;
    }
    if (lo && hi) out.push(...(lo.x <= hi.x ? [lo, hi] : [hi, lo]).filter((p, i, a) => i === 0 || p !== a[0]));
  }
  const last = points[points.length - 1];
  if (last && out[out.length - 1] !== last) out.push(last);
  const first = points[0];
  if (first && out[0] !== first) out.unshift(first);
  return out;
}

export const fmtTick = (v: number): string => {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 10_000 || a < 0.001) return v.toExponential(1);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
};

export interface LineChartProps {
  readonly series: readonly Series[];
  readonly title: string;
  readonly id?: string | undefined;
  readonly xLabel?: string | undefined;
  readonly yLabel?: string | undefined;
  readonly y2Label?: string | undefined;
  /** A dashed horizontal line on the left axis (a drift threshold). */
  readonly threshold?: number | undefined;
}

export const LineChart: FC<LineChartProps> = ({ series, title, id, xLabel, yLabel, y2Label, threshold }) => {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return <p class="muted" id={id}>No {title.toLowerCase()} yet.</p>;
  const left = series.filter((s) => !s.right).flatMap((s) => s.points.map((p) => p.y));
  const right = series.filter((s) => s.right).flatMap((s) => s.points.map((p) => p.y));
  const [x0, x1raw] = extent(all.map((p) => p.x));
  const x1 = x1raw === x0 ? x0 + 1 : x1raw;
  const [y0, y1] = extent(threshold !== undefined ? [...left, threshold, 0] : left);
  const [r0, r1] = extent(right);
  const sx = (x: number): number => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const sy = (y: number, lo: number, hi: number): number => H - PAD.b - ((y - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  const hasRight = right.length > 0;
  return (
    <svg class="chart" id={id} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} data-points={String(all.length)}>
      <title>{title}</title>
      {ticks(y0, y1).map((t) => (
        <g class="tick">
          <line class="grid" x1={PAD.l} x2={W - PAD.r} y1={sy(t, y0, y1)} y2={sy(t, y0, y1)} />
          <text x={PAD.l - 6} y={sy(t, y0, y1) + 4} text-anchor="end">{fmtTick(t)}</text>
        </g>
      ))}
      {hasRight ? ticks(r0, r1).map((t) => <text x={W - PAD.r + 6} y={sy(t, r0, r1) + 4}>{fmtTick(t)}</text>) : null}
      {ticks(x0, x1, 6).map((t) => (
        <g class="tick">
          <line class="axis" x1={sx(t)} x2={sx(t)} y1={H - PAD.b} y2={H - PAD.b + 4} />
          <text x={sx(t)} y={H - PAD.b + 16} text-anchor="middle">{fmtTick(t)}</text>
        </g>
      ))}
      <line class="axis" x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} />
      <line class="axis" x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} />
      {hasRight ? <line class="axis" x1={W - PAD.r} y1={PAD.t} x2={W - PAD.r} y2={H - PAD.b} /> : null}
      {xLabel ? <text class="axis-label" x={(PAD.l + W - PAD.r) / 2} y={H - 6} text-anchor="middle">{xLabel}</text> : null}
      {yLabel ? <text class="axis-label" x={12} y={(PAD.t + H - PAD.b) / 2} transform={`rotate(-90 12 ${(PAD.t + H - PAD.b) / 2})`} text-anchor="middle">{yLabel}</text> : null}
      {hasRight && y2Label ? <text class="axis-label" x={W - 10} y={(PAD.t + H - PAD.b) / 2} transform={`rotate(90 ${W - 10} ${(PAD.t + H - PAD.b) / 2})`} text-anchor="middle">{y2Label}</text> : null}
      {threshold !== undefined ? <line x1={PAD.l} x2={W - PAD.r} y1={sy(threshold, y0, y1)} y2={sy(threshold, y0, y1)} stroke="#a15c00" stroke-dasharray="5 4" data-threshold={String(threshold)} /> : null}
      {series.map((s, i) => {
        const color = COLORS[i % COLORS.length];
        const [lo, hi] = s.right ? [r0, r1] : [y0, y1];
        const pts = downsample(s.points);
        const d = pts.map((p, j) => `${j ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y, lo, hi).toFixed(1)}`).join(" ");
        const last = s.points[s.points.length - 1];
        return (
          <g data-series={s.name} data-drawn={String(pts.length)} data-final={last ? String(last.y) : ""} data-first-x={String(pts[0]?.x ?? "")} data-last-x={String(pts.at(-1)?.x ?? "")}>
            {pts.length > 1 ? <path d={d} fill="none" stroke={color} stroke-width="2" /> : null}
            {last ? <circle cx={sx(last.x)} cy={sy(last.y, lo, hi)} r={3.5} fill={color} /> : null}
            <text x={PAD.l + 6 + i * 150} y={14} style={`fill:${color}`} class="legend">
              {s.name}{s.right ? " (right axis)" : ""}{last ? `: ${fmtTick(last.y)}` : ""}
            </text>
          </g>
        );
      })}
    </svg>
  );
};

export const BarChart: FC<{ bars: readonly { label: string; value: number }[]; threshold?: number; title: string }> = ({ bars, threshold, title }) => {
  if (!bars.length) return <p class="muted">No {title.toLowerCase()} yet.</p>;
  const max = Math.max(threshold ?? 0, ...bars.map((b) => b.value), 1e-9) * 1.15;
  const rowH = 22;
  const h = bars.length * rowH + 10;
  const sx = (v: number): number => 160 + (v / max) * (W - 220);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${h}`} role="img" aria-label={`${title}: ${bars.map((b) => `${b.label} ${b.value.toFixed(3)}`).join(", ")}`}>
      <title>{title}</title>
      {bars.map((b, i) => (
        <g>
          <text x={4} y={i * rowH + 20}>{b.label}</text>
          <rect x={160} y={i * rowH + 8} width={Math.max(1, sx(b.value) - 160)} height={14} fill={threshold !== undefined && b.value > threshold ? "#c62828" : "#2457c5"} />
          <text x={sx(b.value) + 4} y={i * rowH + 20}>{b.value.toFixed(3)}</text>
        </g>
      ))}
      {threshold !== undefined ? <line x1={sx(threshold)} x2={sx(threshold)} y1={0} y2={h} stroke="#a15c00" stroke-dasharray="4 3" /> : null}
    </svg>
  );
};
