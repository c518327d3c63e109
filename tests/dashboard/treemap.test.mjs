// The squarified treemap layout (server/proxy/assets/dashboard/treemap.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { nested, squarify, worst } from "../../server/proxy/assets/dashboard/treemap.js";

const EPS = 1e-9;

function checkTiling(rects, rect, values) {
  const total = values.reduce((s, v) => s + v, 0);
  let area = 0;
  for (const r of rects) {
    assert.ok(r.w >= -EPS && r.h >= -EPS, "no negative sizes");
    assert.ok(r.x >= rect.x - EPS && r.y >= rect.y - EPS, "inside (top left)");
    assert.ok(r.x + r.w <= rect.x + rect.w + 1e-6 && r.y + r.h <= rect.y + rect.h + 1e-6, "inside (bottom right)");
    const want = (r.item.value / total) * rect.w * rect.h;
    assert.ok(Math.abs(r.w * r.h - want) <= 1e-6 * rect.w * rect.h, `area of ${r.item.value}: ${r.w * r.h} vs ${want}`);
    area += r.w * r.h;
  }
  assert.ok(Math.abs(area - rect.w * rect.h) <= 1e-6 * rect.w * rect.h, "tiles the whole rectangle");
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i];
      const b = rects[j];
      const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      assert.ok(ox <= 1e-6 || oy <= 1e-6, `rectangles ${i} and ${j} overlap`);
    }
  }
}

test("the paper's example: 6 6 4 3 2 2 1 in a 6x4 rectangle", () => {
  const values = [6, 6, 4, 3, 2, 2, 1];
  const rect = { x: 0, y: 0, w: 6, h: 4 };
  const rects = squarify(values.map((value) => ({ value })), rect);
  checkTiling(rects, rect, values);
  // Bruls et al., figure 2: the two 6s stack in a 3-wide column on the left ...
  assert.deepEqual(
    rects.slice(0, 2).map((r) => [r.x, r.y, r.w, r.h]),
    [
      [0, 0, 3, 2],
      [0, 2, 3, 2],
    ],
  );
  // ... then 4 and 3 side by side along the top of the rest (height 7/3).
  assert.ok(Math.abs(rects[2].h - 7 / 3) < 1e-9 && Math.abs(rects[3].h - 7 / 3) < 1e-9);
  assert.equal(rects[2].y, 0);
  // every rectangle is far from a sliver
  for (const r of rects) assert.ok(Math.max(r.w / r.h, r.h / r.w) < 3, `aspect ${r.w}x${r.h}`);
});

test("areas proportional, tiling exact, for many random inputs and shapes", () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let n = 1; n <= 60; n++) {
    const values = Array.from({ length: n }, () => Math.floor(rnd() ** 3 * 100000) + 1);
    const rect = { x: rnd() * 10, y: rnd() * 10, w: 50 + rnd() * 1500, h: 30 + rnd() * 900 };
    checkTiling(squarify(values.map((value) => ({ value })), rect), rect, values);
  }
});

test("squarified beats slice-and-dice on aspect ratio", () => {
  const values = [500, 300, 120, 80, 40, 20, 10, 5];
  const rect = { x: 0, y: 0, w: 800, h: 400 };
  const rects = squarify(values.map((value) => ({ value })), rect);
  const worstAspect = Math.max(...rects.map((r) => Math.max(r.w / r.h, r.h / r.w)));
  const total = values.reduce((s, v) => s + v, 0);
  const sliceWorst = Math.max(...values.map((v) => Math.max((rect.w * v) / total / rect.h, rect.h / ((rect.w * v) / total))));
  assert.ok(worstAspect < sliceWorst / 10, `${worstAspect} vs ${sliceWorst}`);
  assert.ok(worstAspect < 4, `worst aspect ${worstAspect}`);
});

test("zero, negative and non-numbers are left out; empty input and empty rectangles give nothing", () => {
  const rects = squarify([{ value: 0 }, { value: -3 }, { value: NaN }, { value: 5, k: "a" }], { x: 0, y: 0, w: 10, h: 10 });
  assert.equal(rects.length, 1);
  assert.deepEqual([rects[0].x, rects[0].y, rects[0].w, rects[0].h, rects[0].item.k], [0, 0, 10, 10, "a"]);
  assert.deepEqual(squarify([], { x: 0, y: 0, w: 10, h: 10 }), []);
  assert.deepEqual(squarify([{ value: 1 }], { x: 0, y: 0, w: 0, h: 10 }), []);
});

test("largest first, the input is not reordered", () => {
  const items = [{ value: 1 }, { value: 9 }, { value: 4 }];
  const rects = squarify(items, { x: 0, y: 0, w: 30, h: 20 });
  assert.deepEqual(rects.map((r) => r.item.value), [9, 4, 1]);
  assert.deepEqual(items.map((i) => i.value), [1, 9, 4]);
});

test("worst aspect ratio of a row", () => {
  assert.equal(worst([4], 2), 1);
  assert.equal(worst([], 2), Infinity);
  assert.ok(Math.abs(worst([6, 6], 4) - 1.5) < 1e-12); // a 3-wide column of two 3x2 blocks
});

test("nested: groups by their children's sum, children inside their group", () => {
  const groups = [
    { name: "anthropic", children: [{ value: 3 }, { value: 1 }] },
    { name: "openai", children: [{ value: 4 }] },
    { name: "none", children: [{ value: 0 }] },
  ];
  const rect = { x: 0, y: 0, w: 80, h: 40 };
  const { groups: outer, leaves } = nested(groups, rect);
  assert.equal(outer.length, 2);
  checkTiling(outer, rect, [4, 4]);
  checkTiling(leaves, rect, [3, 1, 4]);
  for (const l of leaves) {
    const g = outer.find((o) => o.item.name === l.group.name);
    assert.ok(l.x >= g.x - EPS && l.x + l.w <= g.x + g.w + 1e-6 && l.y >= g.y - EPS && l.y + l.h <= g.y + g.h + 1e-6);
  }
});
