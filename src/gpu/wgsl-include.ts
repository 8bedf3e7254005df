/**
 * Includes for WGSL, which has none of its own. A line `//#include "lib/reduce.wgsl"` (a comment,
 * so every file stays valid WGSL for editors and linters) is replaced by that file's text, paths
 * relative to shaders/. Each file enters a module at most once (the first directive wins, later
 * ones become empty), so library files can include what they need without double declarations;
 * a missing file or a cycle is an error naming the include chain. WGSL declarations may appear
 * in any order, so where the text lands does not matter; `enable` directives must open the
 * root file and never stand in an included one.
 */

/** Shader texts by path relative to shaders/ ("rope.wgsl", "lib/rotary.wgsl"). */
export type ShaderFiles = Readonly<Record<string, string>>;

const DIRECTIVE = /^[ \t]*\/\/#include[ \t]+"([^"]+)"[ \t]*$/;

/** Every .wgsl file under shaders/, bundled as text (Vite resolves the glob in the app, vitest and the Node bundles alike). */
export const shaderFiles: ShaderFiles = Object.fromEntries(
  Object.entries(import.meta.glob<string>('../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true })).map(
    ([path, text]) => [path.replace(/^\.\.\/\.\.\/shaders\//, ''), text],
  ),
);

/** `code` (the text of the shader called `name`) with every include directive resolved against `files`. */
export function resolveIncludes(name: string, code: string, files: ShaderFiles = shaderFiles): string {
  const included = new Set<string>();
  const expand = (text: string, chain: readonly string[]): string =>
    text
      .split('\n')
      .map((line) => {
        const path = DIRECTIVE.exec(line)?.[1];
        if (path === undefined) return line;
        if (chain.includes(path)) throw new Error(`WGSL include cycle: ${[...chain, path].join(' -> ')}`);
        if (included.has(path)) return '';
        const body = files[path];
        if (body === undefined) throw new Error(`WGSL include "${path}" not found (${chain.join(' -> ')})`);
        included.add(path);
        return expand(body, [...chain, path]);
      })
      .join('\n');
  return expand(code, [name]);
}

/**
 * A module made of whole shader files in order (the first may open with `enable`), for a kernel whose
 * variants differ in what they bind: `{ name, code }` for the pipeline cache, the name listing the files.
 */
export function shaderOf(paths: readonly string[]): { name: string; code: string } {
  return { name: paths.join('+'), code: paths.map((path) => `//#include "${path}"`).join('\n') };
}
