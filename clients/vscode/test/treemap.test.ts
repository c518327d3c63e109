import { strict as assert } from "node:assert";
import { test } from "node:test";
import { type Composition, type Rect, groupByCategory, layoutComposition, squarify } from "../src/treemap";

const area = (r: Rect) => r.w * r.h;
const close = (a: number, b: number, msg?: string) => { assert.ok(Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b)), msg ?? `${a} != ${b}`); };
const inside = (r: Rect, b: Rect) =>
  r.x >= b.x - 1e-9 && r.y >= b.y - 1e-9 && r.x + r.w <= b.x + b.w + 1e-6 && r.y + r.h <= b.y + b.h + 1e-6;
const overlap = (a: Rect, b: Rect) =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

test("areas are proportional to values, inside the bounds, without overlap", () => {
  const bounds = { x: 10, y: 20, w: 600, h: 400 };
  const values = [6, 6, 4, 3, 2, 2, 1];
  const rects = squarify(values, bounds);
  const total = values.reduce((a, b) => a + b, 0);
  rects.forEach((r, i) => {
    close(area(r), (values[i] / total) * area(bounds));
    assert.ok(inside(r, bounds), `rect ${i} outside: ${JSON.stringify(r)}`);
  });
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      assert.ok(overlap(rects[i], rects[j]) < 1e-6, `${i} and ${j} overlap`);
    }
  }
  close(rects.reduce((s, r) => s + area(r), 0), area(bounds));
});

test("the classic example gives squarish rectangles", () => {
  const rects = squarify([6, 6, 4, 3, 2, 2, 1], { x: 0, y: 0, w: 6, h: 4 });
  const worst = Math.max(...rects.map((r) => Math.max(r.w / r.h, r.h / r.w)));
  assert.ok(worst < 3, `aspect ratio ${worst}`);
  // the first column holds the two largest
  close(rects[0].x, 0);
  close(rects[1].x, 0);
  close(rects[0].w, 3);
});

test("order of output follows input, zero values get empty rectangles", () => {
  const rects = squarify([1, 0, 3], { x: 0, y: 0, w: 4, h: 1 });
  close(area(rects[0]), 1);
  assert.equal(area(rects[1]), 0);
  close(area(rects[2]), 3);
});

test("nothing to lay out", () => {
  assert.deepEqual(squarify([], { x: 0, y: 0, w: 1, h: 1 }), []);
  assert.equal(area(squarify([0, 0], { x: 0, y: 0, w: 1, h: 1 })[0]), 0);
});

const composition: Composition = {
  model: "claude-sonnet-4-5",
  contextWindow: 200000,
  exact: false,
  totalTokens: 6000,
  freeTokens: 194000,
  children: [
    { name: "CLAUDE.md", category: "memory", tokens: 3000 },
    { name: "api/CLAUDE.md", category: "memory", tokens: 1000 },
    { name: "rules/style.mdc", category: "rules", tokens: 500 },
    { name: "github MCP", category: "tools", tokens: 1500 },
    { name: "free", category: "free", tokens: 194000 },
  ],
};

test("categories are grouped, largest first, free left out", () => {
  const groups = groupByCategory(composition);
  assert.deepEqual(
    groups.map((g) => [g.category, g.tokens]),
    [["memory", 4000], ["tools", 1500], ["rules", 500]],
  );
});

test("category blocks and their files are proportional and nested", () => {
  const bounds = { x: 0, y: 0, w: 1000, h: 600 };
  const blocks = layoutComposition(composition, bounds);
  const cats = blocks.filter((b) => b.depth === 0);
  assert.deepEqual(cats.map((b) => b.name), ["memory", "tools", "rules"]);
  for (const c of cats) {
    close(area(c.rect), (c.tokens / 6000) * area(bounds));
    const files = blocks.filter((b) => b.depth === 1 && b.category === c.category);
    close(files.reduce((s, f) => s + area(f.rect), 0), area(c.rect));
    for (const f of files) {
      assert.ok(inside(f.rect, c.rect));
    }
  }
  const claude = blocks.find((b) => b.name === "CLAUDE.md")!;
  close(area(claude.rect), 0.5 * area(bounds));
});

test("proportions shift when a file grows", () => {
  const bounds = { x: 0, y: 0, w: 1000, h: 600 };
  const grown = { ...composition, children: composition.children.map((n) => (n.name === "github MCP" ? { ...n, tokens: 4500 } : n)) };
  const before = layoutComposition(composition, bounds).find((b) => b.depth === 0 && b.name === "tools")!;
  const after = layoutComposition(grown, bounds).find((b) => b.depth === 0 && b.name === "tools")!;
  close(area(before.rect) / area(bounds), 1500 / 6000);
  close(area(after.rect) / area(bounds), 4500 / 9000);
});
