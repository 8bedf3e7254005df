/**
 * A checkpoint folder on disk, for Node (tests, CLI, benchmarks). Node-only: the app never imports
 * this file. Ranges are read through a file handle; nothing is read before it is needed.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { FileMissingError } from '../io/errors';
import { checkFileName, piecewise, throwIfAborted, type CheckpointSource } from '../io/source';

export class NodeFolderSource implements CheckpointSource {
  readonly name: string;
  readonly cacheKey: string;
  readonly root: string;

  constructor(folder: string) {
    this.root = resolve(folder);
    this.name = `folder:${this.root}`;
    this.cacheKey = `folder/${this.root}`;
  }

  #path(file: string): string {
    return join(this.root, checkFileName(file));
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory() && depth < 2) await walk(full, depth + 1);
        else if (entry.isFile()) out.push(relative(this.root, full).split('\\').join('/'));
      }
    };
    await walk(this.root, 0);
    return out.sort();
  }

  async size(file: string): Promise<number> {
    try {
      const s = await stat(this.#path(file));
      if (!s.isFile()) throw new FileMissingError(this.name, file);
      return s.size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new FileMissingError(this.name, file);
      throw e;
    }
  }

  async exists(file: string): Promise<boolean> {
    try {
      await this.size(file);
      return true;
    } catch (e) {
      if (e instanceof FileMissingError) return false;
      throw e;
    }
  }

  async readText(file: string, signal?: AbortSignal): Promise<string> {
    throwIfAborted(signal);
    try {
      return await readFile(this.#path(file), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new FileMissingError(this.name, file);
      throw e;
    }
  }

  async readRange(file: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    const out = new Uint8Array(end - start);
    let at = 0;
    for await (const piece of this.stream(file, start, end, signal)) {
      out.set(piece, at);
      at += piece.byteLength;
    }
    return out;
  }

  async *stream(file: string, start: number, end: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    if (start >= end) return;
    let handle;
    try {
      handle = await open(this.#path(file), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new FileMissingError(this.name, file);
      throw e;
    }
    try {
      const fh = handle;
      yield* piecewise(file, start, end, async (position, length) => {
        const buffer = new Uint8Array(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buffer, got, length - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buffer.subarray(0, got);
      }, signal);
    } finally {
      await handle.close();
    }
  }
}
