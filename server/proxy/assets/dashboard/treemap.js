// Squarified treemap layout (Bruls, Huizing and van Wijk, "Squarified Treemaps", 2000).
// Pure functions, no DOM: the dashboard draws the rectangles, tests/dashboard checks them.

/**
 * The worst aspect ratio (>= 1) of a row of `areas` laid along a side of length `side`.
 * @param {number[]} areas
 * @param {number} side
 */
export function worst(areas, side) {
  let sum = 0;
  let min = Infinity;
  let max = 0;
  for (const a of areas) {
    sum += a;
    if (a < min) min = a;
    if (a > max) max = a;
  }
  if (sum <= 0 || side <= 0) return Infinity;
  const s2 = sum * sum;
  const w2 = side * side;
  return Math.max((w2 * max) / s2, s2 / (w2 * min));
}

/**
 * Lay out `items` (objects with a numeric `value`) in `rect` ({x, y, w, h}). Returns one
 * `{item, x, y, w, h}` per item with a positive value, largest first; each rectangle's area
 * is `value / sum(values)` of the rectangle's area, and together they tile it exactly.
 * @template {{value: number}} T
 * @param {T[]} items
 * @param {{x: number, y: number, w: number, h: number}} rect
 * @returns {{item: T, x: number, y: number, w: number, h: number}[]}
 */
export function squarify(items, rect) {
  const nodes = items.filter((n) => Number.isFinite(n.value) && n.value > 0).sort((a, b) => b.value - a.value);
  const total = nodes.reduce((s, n) => s + n.value, 0);
  const out = [];
  if (total <= 0 || !(rect.w > 0) || !(rect.h > 0)) return out;
  const scale = (rect.w * rect.h) / total;
  let { x, y, w, h } = rect;
  let row = [];
  let rowAreas = [];

  const place = () => {
    const sum = rowAreas.reduce((s, a) => s + a, 0);
    if (w >= h) {
      // a column along the left edge
      const cw = h > 0 ? Math.min(w, sum / h) : 0;
      let cy = y;
      row.forEach((item, i) => {
        const last = i === row.length - 1;
        const ch = last ? y + h - cy : rowAreas[i] / cw;
        out.push({ item, x, y: cy, w: cw, h: ch });
        cy += ch;
      });
      x += cw;
      w -= cw;
    } else {
      // a row along the top edge
      const rh = w > 0 ? Math.min(h, sum / w) : 0;
      let cx = x;
      row.forEach((item, i) => {
        const last = i === row.length - 1;
        const cw = last ? x + w - cx : rowAreas[i] / rh;
        out.push({ item, x: cx, y, w: cw, h: rh });
        cx += cw;
      });
      y += rh;
      h -= rh;
    }
    row = [];
    rowAreas = [];
  };

  for (let i = 0; i < nodes.length; ) {
    const area = nodes[i].value * scale;
    const side = Math.min(w, h);
    if (row.length === 0 || worst([...rowAreas, area], side) <= worst(rowAreas, side)) {
      row.push(nodes[i]);
      rowAreas.push(area);
      i++;
    } else {
      place();
    }
  }
  if (row.length) place();
  return out;
}

/**
 * Two levels: `groups` of `{name, children: [{value, ...}]}`; each group's rectangle is laid
 * out by its children's sum, then its children inside it (leaving `pad` pixels for a header
 * when the group is tall enough). Returns `{groups: [{item, x, y, w, h}], leaves: [...]}`.
 */
export function nested(groups, rect, pad = 0) {
  const withValues = groups.map((g) => ({ ...g, value: g.children.reduce((s, c) => s + (c.value > 0 ? c.value : 0), 0) }));
  const outer = squarify(withValues, rect);
  const leaves = [];
  for (const g of outer) {
    const p = g.h > pad * 3 ? pad : 0;
    for (const leaf of squarify(g.item.children, { x: g.x, y: g.y + p, w: g.w, h: g.h - p })) {
      leaves.push({ ...leaf, group: g.item });
    }
  }
  return { groups: outer, leaves };
}
