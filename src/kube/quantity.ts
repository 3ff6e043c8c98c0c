/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), exact
 * enough for CPU and memory:
 *
 *   <quantity> ::= <sign>? <number> <suffix>
 *   <number>   ::= <digits> | <digits>.<digits>? | .<digits>
 *   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei            (binary SI)
 *                | n | u | m | "" | k | M | G | T | P | E (decimal SI)
 *                | (e | E) <sign>? <digits>              (decimal exponent)
 *
 * Arithmetic is done on bigints so `0.1`, `1.1Ki` or `100n` are exact; a value
 * that is not a whole number of the target unit rounds away from zero, as
 * Quantity.MilliValue() and Quantity.Value() do (`1n` CPU is `1m`).
 */

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

const DECIMAL_EXPONENT: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXPONENT: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const BINARY_UNITS = Object.entries(BINARY_EXPONENT).reverse();

/** Beyond this many powers of ten any non-zero value is out of range anyway; avoids building huge bigints. */
const MAX_DECIMAL_SHIFT = 64;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** value = sign * mantissa * 2^binaryExponent * 10^decimalExponent, all integers. */
interface Parsed {
  readonly negative: boolean;
  readonly mantissa: bigint;
  readonly binaryExponent: number;
  readonly decimalExponent: number;
}

function parse(q: string | number): Parsed {
  // String() of a finite number always fits the grammar ("1e+21", "1e-7", "0.5").
  if (typeof q === "number" && !Number.isFinite(q)) throw new Error(`invalid quantity ${String(q)}: not a finite number`);
  const text = String(q);
  const match = QUANTITY.exec(text);
  if (!match) {
    throw new Error(`invalid quantity ${JSON.stringify(text)}: expected a number with an optional suffix, like 500m, 2, 1.5Gi or 1e3`);
  }
  const [, sign = "", number = "", exponent, suffix = ""] = match;
  const [whole = "", fraction = ""] = number.split(".");
  const decimalExponent = (exponent === undefined ? (DECIMAL_EXPONENT[suffix] ?? 0) : Number(exponent)) - fraction.length;
  return {
    negative: sign === "-",
    mantissa: BigInt(whole + fraction),
    binaryExponent: BINARY_EXPONENT[suffix] ?? 0,
    decimalExponent: Number.isSafeInteger(decimalExponent) ? decimalExponent : Math.sign(decimalExponent) * Infinity,
  };
}

/** |value| * 10^shift as an integer, rounded up (away from zero once the sign is applied). */
function scaleUp(magnitude: bigint, shift: number): bigint {
  if (magnitude === 0n) return 0n;
  if (shift >= 0) return shift > MAX_DECIMAL_SHIFT ? MAX_SAFE + 1n : magnitude * 10n ** BigInt(shift);
  // A divisor with more digits than the magnitude leaves 0 < quotient < 1, which rounds up to 1.
  if (-shift > magnitude.toString().length) return 1n;
  const divisor = 10n ** BigInt(-shift);
  const quotient = magnitude / divisor;
  return magnitude % divisor === 0n ? quotient : quotient + 1n;
}

/** The quantity as a whole number of units of 10^unitExponent (0: ones, -3: millis). */
function toUnits(q: string | number, unitExponent: number, unitName: string): number {
  const parsed = parse(q);
  const magnitude = scaleUp(parsed.mantissa << BigInt(parsed.binaryExponent), parsed.decimalExponent - unitExponent);
  if (magnitude > MAX_SAFE) throw new Error(`quantity ${JSON.stringify(String(q))} is out of range: beyond ${Number.MAX_SAFE_INTEGER} ${unitName}`);
  return parsed.negative && magnitude !== 0n ? -Number(magnitude) : Number(magnitude);
}

/** CPU in millicores: "1.5" and "1500m" are 1500; fractional millis round up ("1n" is 1). */
export function parseCpuMillis(q: string | number): number {
  return toUnits(q, -3, "millicores");
}

/** Memory in bytes: "1Gi" is 1073741824, "1G" is 1000000000; fractional bytes round up. */
export function parseMemoryBytes(q: string | number): number {
  return toUnits(q, 0, "bytes");
}

function requireInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new Error(`${what} must be a safe integer, got ${value}`);
}

/** Whole cores without a suffix ("2"), otherwise millicores ("1500m"). */
export function formatCpuMillis(m: number): string {
  requireInteger(m, "CPU millicores");
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

/** The largest binary unit that divides exactly ("1536Mi", "2Gi"), otherwise plain bytes. */
export function formatMemoryBytes(b: number): string {
  requireInteger(b, "memory bytes");
  if (b === 0) return "0";
  // Safe integers and powers of two up to 2^60 are exact doubles, so % and / are exact.
  const unit = BINARY_UNITS.find(([, exponent]) => b % 2 ** exponent === 0);
  return unit ? `${b / 2 ** unit[1]}${unit[0]}` : String(b);
}
