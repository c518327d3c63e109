// Squarified treemap layout (Bruls, Huizing, van Wijk 2000) and the composition tree laid out
// as category blocks with their files inside. Pure: used by the webview and the unit tests.

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface CompositionNode {
  name: string;
  category: string;
  tokens: number;
  share?: number;
  uri?: string | null;
  children?: CompositionNode[];
}

export interface Composition {
  model: string;
  contextWindow: number;
  exact: boolean;
  totalTokens: number;
  freeTokens: number;
  children: CompositionNode[];
}

export interface Block {
  /** Category block (depth 0) or a file inside it (depth 1). */
  depth: 0 | 1;
  name: string;
  category: string;
  tokens: number;
  uri?: string;
  rect: Rect;
}

/** The categories of docs/protocol.md, in display order. */
export const CATEGORIES = ["memory", "rules", "agents", "commands", "skills", "tools", "system", "free"];

/**
 * Lays out `values` in `bounds`: one rectangle per value, in input order, each with an area
 * proportional to its value. Zero and negative values get empty rectangles.
 */
export function squarify(values: readonly number[], bounds: Rect): Rect[] {
  const out: Rect[] = values.map(() => ({ x: bounds.x, y: bounds.y, w: 0, h: 0 }));
  const total = values.reduce((s, v) => s + (v > 0 ? v : 0), 0);
  if (total <= 0 || bounds.w <= 0 || bounds.h <= 0) {
    return out;
  }
  const scale = (bounds.w * bounds.h) / total;
  const order = values
    .map((v, i) => ({ i, area: v > 0 ? v * scale : 0 }))
    .filter((e) => e.area > 0)
    .sort((a, b) => b.area - a.area || a.i - b.i);

  let free: Rect = { ...bounds };
  let row: typeof order = [];
  const worst = (r: typeof order, side: number): number => {
    const sum = r.reduce((s, e) => s + e.area, 0);
    let max = 0;
    let min = Infinity;
    for (const e of r) {
      max = Math.max(max, e.area);
      min = Math.min(min, e.area);
    }
    return Math.max((side * side * max) / (sum * sum), (sum * sum) / (side * side * min));
  };
  const placeRow = (r: typeof order): void => {
    const sum = r.reduce((s, e) => s + e.area, 0);
    if (free.w >= free.h) {
      // a column on the left
      const w = sum / free.h;
      let y = free.y;
      for (const e of r) {
        const h = e.area / w;
        out[e.i] = { x: free.x, y, w, h };
        y += h;
      }
      free = { x: free.x + w, y: free.y, w: Math.max(0, free.w - w), h: free.h };
    } else {
      // a row on top
      const h = sum / free.w;
      let x = free.x;
      for (const e of r) {
        const w = e.area / h;
        out[e.i] = { x, y: free.y, w, h };
        x += w;
      }
      free = { x: free.x, y: free.y + h, w: free.w, h: Math.max(0, free.h - h) };
    }
  };

  for (const e of order) {
    const side = Math.min(free.w, free.h);
    if (row.length === 0 || worst([...row, e], side) <= worst(row, side)) {
      row.push(e);
    } else {
      placeRow(row);
      row = [e];
    }
  }
  if (row.length > 0) {
    placeRow(row);
  }
  return out;
}

/** Groups the composition's top-level entries by category, largest first. */
export function groupByCategory(
  composition: Composition,
): { category: string; tokens: number; items: CompositionNode[] }[] {
  const groups = new Map<string, CompositionNode[]>();
  for (const node of composition.children) {
    if (node.category === "free" || node.tokens <= 0) {
      continue;
    }
    const list = groups.get(node.category) ?? [];
    list.push(node);
    groups.set(node.category, list);
  }
  return [...groups.entries()]
    .map(([category, items]) => ({
      category,
      tokens: items.reduce((s, n) => s + n.tokens, 0),
      items,
    }))
    .sort((a, b) => b.tokens - a.tokens || a.category.localeCompare(b.category));
}

/**
 * The treemap of a composition: one block per category (area proportional to its tokens),
 * and inside it one block per entry. Free space is not drawn (it would dwarf the rest); the
 * view shows it as a bar instead.
 */
export function layoutComposition(composition: Composition, bounds: Rect): Block[] {
  const groups = groupByCategory(composition);
  const rects = squarify(
    groups.map((g) => g.tokens),
    bounds,
  );
  const blocks: Block[] = [];
  groups.forEach((group, gi) => {
    const rect = rects[gi];
    blocks.push({ depth: 0, name: group.category, category: group.category, tokens: group.tokens, rect });
    const inner = squarify(
      group.items.map((n) => n.tokens),
      rect,
    );
    group.items.forEach((node, ni) => {
      blocks.push({
        depth: 1,
        name: node.name,
        category: group.category,
        tokens: node.tokens,
        uri: node.uri ?? undefined,
        rect: inner[ni],
      });
    });
  });
  return blocks;
}
