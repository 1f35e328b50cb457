/**
 * Shapes for the parity grids: every plane size the guide asks for (odd
 * sizes around the vector widths, and 100k+ planes) in spatial ranks 1-3.
 */
export const PLANE_SIZES = [1, 7, 17, 33, 1023] as const;

/** Spatial shapes of rank 1, 2 and 3 with `m` elements in total. */
export function spatialShapes(m: number): number[][] {
  const factor = (v: number): number => {
    for (let f = Math.floor(Math.sqrt(v)); f > 1; f--) if (v % f === 0) return f;
    return 1;
  };
  const a = factor(m);
  const b = factor(m / a);
  return [[m], [a, m / a], [a, b, m / a / b]];
}

/** Planes of more than 100k elements, one per spatial rank. */
export const LARGE_SPATIAL = [[131071], [333, 337], [47, 53, 61]] as const;

/** Row lengths for the row operations (RMS norm): the plane sizes and one above 4Ki. */
export const ROW_LENGTHS = [...PLANE_SIZES, 4097] as const;

/** Every row length as normalized dims of rank 1, 2 and 3: [L, rowShape]. */
export const ROW_GRID = ROW_LENGTHS.flatMap((L) => spatialShapes(L).map((row) => [L, row] as const));
