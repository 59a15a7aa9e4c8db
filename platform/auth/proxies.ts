// FLYWHEEL_TRUSTED_PROXIES: the proxies whose forwarding headers are believed (IPs and CIDRs), as a node BlockList.
import { BlockList, isIP } from "node:net";

/** Parse FLYWHEEL_TRUSTED_PROXIES entries ("10.0.0.1", "10.0.0.0/8", "fd00::/8"). Returns the bad entries too. */
export function trustedProxyList(entries: readonly string[]): { list: BlockList; invalid: string[] } {
  const list = new BlockList();
  const invalid: string[] = [];
  for (const raw of entries) {
    const [addr = "", prefix, ...rest] = normaliseAddress(raw.trim()).split("/");
    const family = isIP(addr);
    const bits = prefix === undefined ? undefined : Number(prefix);
    if (!family || rest.length || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128)))) {
      invalid.push(raw);
      continue;
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, bits, type);
  }
  return { list, invalid };
}

/** "::ffff:10.0.0.1" (an IPv4 client on a dual-stack socket) is 10.0.0.1. */
export function normaliseAddress(a: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}

export const isTrusted = (list: BlockList, addr: string): boolean => {
  const family = isIP(addr);
  return family !== 0 && list.check(addr, family === 4 ? "ipv4" : "ipv6");
};
