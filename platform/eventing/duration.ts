// ISO-8601 durations as Knative's DeliverySpec uses them (backoffDelay, timeout): "PT0.5S", "PT2S", "PT1M", "P1D".
import { ValidationError } from "../errors.ts";

const NUM = String.raw`(\d+(?:[.,]\d+)?)`;
const PATTERN = new RegExp(`^P(?:${NUM}Y)?(?:${NUM}M)?(?:${NUM}W)?(?:${NUM}D)?(?:T(?:${NUM}H)?(?:${NUM}M)?(?:${NUM}S)?)?$`);

// Years and months have no fixed length; Knative (rickb777/date period.Duration) uses these approximations.
const MS = {
  year: 365.2425 * 86_400_000,
  month: 30.436875 * 86_400_000,
  week: 7 * 86_400_000,
  day: 86_400_000,
  hour: 3_600_000,
  minute: 60_000,
  second: 1_000,
} as const;

/** Parse an ISO-8601 duration into milliseconds, or undefined when it is not one. */
export function tryParseIsoDuration(text: string): number | undefined {
  const m = PATTERN.exec(text.trim().toUpperCase());
  if (!m) return undefined;
  const parts = m.slice(1);
  if (parts.every((p) => p === undefined)) return undefined; // "P" or "PT" alone
  if (text.toUpperCase().includes("T") && parts.slice(4).every((p) => p === undefined)) return undefined; // "P1DT"
  const n = (i: number): number => Number((parts[i] ?? "0").replace(",", "."));
  const ms =
    n(0) * MS.year + n(1) * MS.month + n(2) * MS.week + n(3) * MS.day + n(4) * MS.hour + n(5) * MS.minute + n(6) * MS.second;
  return Math.round(ms);
}

/** Parse an ISO-8601 duration into milliseconds; throws ValidationError naming `field`. */
export function parseIsoDuration(text: string, field = "duration"): number {
  const ms = tryParseIsoDuration(text);
  if (ms === undefined) {
    throw new ValidationError([{ field, message: `${JSON.stringify(text)} is not an ISO-8601 duration (e.g. PT0.5S, PT2S, PT1M)` }]);
  }
  return ms;
}
