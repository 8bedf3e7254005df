import { describe, expect, it } from 'vitest';
import { resolveIncludes, shaderFiles } from '../../src/gpu/wgsl-include';

const inc = (path: string) => `//#include "${path}"`;

describe('WGSL include resolver', () => {
  it('replaces nested includes by their text, in place', () => {
    const files = {
      'lib/a.wgsl': `${inc('lib/b.wgsl')}\nfn a() {}`,
      'lib/b.wgsl': 'fn b() {}',
    };
    expect(resolveIncludes('k', `// kernel\n${inc('lib/a.wgsl')}\nfn k() {}`, files)).toBe('// kernel\nfn b() {}\nfn a() {}\nfn k() {}');
  });

  it('includes each file once, wherever else it is asked for', () => {
    const files = {
      'lib/a.wgsl': `${inc('lib/c.wgsl')}\nfn a() {}`,
      'lib/b.wgsl': `${inc('lib/c.wgsl')}\nfn b() {}`,
      'lib/c.wgsl': 'fn c() {}',
    };
    const out = resolveIncludes('k', [inc('lib/a.wgsl'), inc('lib/b.wgsl'), inc('lib/a.wgsl')].join('\n'), files);
    expect(out.match(/fn c\(\)/g)).toHaveLength(1);
    expect(out.match(/fn a\(\)/g)).toHaveLength(1);
    expect(out).toBe('fn c() {}\nfn a() {}\n\nfn b() {}\n');
  });

  it('leaves other comments and code alone, indentation and trailing spaces of a directive allowed', () => {
    const files = { 'lib/a.wgsl': 'fn a() {}' };
    expect(resolveIncludes('k', `  ${inc('lib/a.wgsl')}  \n// #include "lib/a.wgsl"\nlet s = "//#include";`, files)).toBe(
      'fn a() {}\n// #include "lib/a.wgsl"\nlet s = "//#include";',
    );
  });

  it('names the missing file and who asked for it', () => {
    const files = { 'lib/a.wgsl': inc('lib/gone.wgsl') };
    expect(() => resolveIncludes('k', inc('lib/a.wgsl'), files)).toThrow('WGSL include "lib/gone.wgsl" not found (k -> lib/a.wgsl)');
  });

  it('reports a cycle with its chain', () => {
    const files = { 'lib/a.wgsl': inc('lib/b.wgsl'), 'lib/b.wgsl': inc('lib/a.wgsl') };
    expect(() => resolveIncludes('k', inc('lib/a.wgsl'), files)).toThrow('WGSL include cycle: k -> lib/a.wgsl -> lib/b.wgsl -> lib/a.wgsl');
    expect(() => resolveIncludes('k', inc('lib/self.wgsl'), { 'lib/self.wgsl': inc('lib/self.wgsl') })).toThrow('cycle');
  });

  it('resolves every shader of the project, leaving no directive behind', () => {
    expect(Object.keys(shaderFiles)).toContain('lib/reduce.wgsl');
    for (const [path, code] of Object.entries(shaderFiles)) {
      const out = resolveIncludes(path, code);
      expect(out, path).not.toMatch(/^\s*\/\/#include/m);
    }
  });
});
