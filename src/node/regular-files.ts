/**
 * Node-only reads of regular files. A FIFO, socket or device given where a file is expected
 * (config.json, a mask, a cache entry) would block a plain readFile forever: the file is opened
 * non-blocking and refused unless fstat says it is a regular file, before any byte is read.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { NotAFileError } from '../io/errors';

/** Opens `path` for reading; throws NotAFileError for anything but a regular file (ENOENT passes through). */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw new NotAFileError(path, s.isDirectory() ? 'a directory' : s.isFIFO() ? 'a FIFO' : 'not a regular file');
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** The UTF-8 text of a regular file. */
export async function readRegularFile(path: string): Promise<string> {
  const handle = await openRegularFile(path);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
