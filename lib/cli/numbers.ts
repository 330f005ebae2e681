/** Writing float32 results as JSON: short decimals (7 to 9 significant digits) that read back as the same float32. */

/**
 * A decimal string of `v` with the fewest of 7, 8 or 9 significant digits (trailing zeros dropped)
 * that rounds back to the same float32: `0.1`, not `0.10000000149011612`.
 */
export function float32String(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (Number.isInteger(v)) return String(v);
  // A float32 has 24 significant bits (7.2 decimal digits): 7 digits are usually enough, 9 always are.
  for (let p = 7; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
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
