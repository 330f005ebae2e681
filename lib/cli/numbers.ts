/** Writing float32 results as JSON: short decimals (7 to 9 significant digits) that read back as the same float32. */

/** 10^0 .. 10^15, exact doubles. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** The slow, always exact path: decimal strings from toPrecision. */
function viaToPrecision(v: number): string {
  for (let p = 7; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/** The decimal m * 10^-k (m a positive integer, k >= 0) without trailing zeros: (1250, 3) -> "1.25". */
function decimal(m: number, k: number): string {
  let ds = String(m);
  while (k > 0 && ds.endsWith('0')) { ds = ds.slice(0, -1); k--; }
  if (k === 0) return ds;
  if (k >= ds.length) return `0.${'0'.repeat(k - ds.length)}${ds}`;
  return `${ds.slice(0, ds.length - k)}.${ds.slice(ds.length - k)}`;
}

/**
 * A decimal string of `v` with the fewest of 7, 8 or 9 significant digits (trailing zeros dropped)
 * that rounds back to the same float32: `0.1`, not `0.10000000149011612`. For 1e-6 <= |v| < 1e7
 * (every non-integer float32 from 2^23 up is an integer) the digits are an integer rounding at an
 * exact power of ten, printed as an integer: toPrecision and String of a double are several times
 * slower, and this runs for every output value of `lstm predict`. `m / 10^k` is one correctly
 * rounded division of exact doubles, the double a reader's JSON.parse makes of the decimal, so the
 * round-trip check tests what a reader gets.
 */
export function float32String(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a < 1e-6 || a >= 1e7) return viaToPrecision(v);
  let e = Math.floor(Math.log10(a));
  // log10 can be one off next to a power of ten: make 10^e <= a < 10^(e+1).
  if (e >= 0 && a < POW10[e]!) e--;
  else if (e + 1 >= 0 && a >= POW10[e + 1]!) e++;
  const sign = v < 0 ? '-' : '';
  for (let p = 7; p <= 9; p++) {
    const k = p - 1 - e;
    const m = Math.round(a * POW10[k]!);
    if (p === 9 || Math.fround(m / POW10[k]!) === a) return sign + decimal(m, k);
  }
  return viaToPrecision(v);
}

/** A JSON array of float32 values, as rows of `cols` when given: `[1.5,2]` or `[[1,2],[3,4]]`. */
export function float32Json(data: Float32Array, cols?: number): string {
  if (cols === undefined) {
    let s = '[';
    for (let i = 0; i < data.length; i++) s += (i ? ',' : '') + float32String(data[i]!);
    return s + ']';
  }
  const rows: string[] = [];
  for (let r = 0; r < data.length / cols; r++) rows.push(float32Json(data.subarray(r * cols, (r + 1) * cols)));
  return `[${rows.join(',')}]`;
}
