/**
 * Null models as files (Node only): `saveNullModel` writes the bytes of
 * `encodeNullModel` atomically, piece by piece (`encodeNullModelChunks`),
 * `loadNullModel` reads and checks them (the format and its checks live in
 * the browser-safe serialize.ts).
 */
import { readFile } from 'node:fs/promises';
import { writeAtomically } from '../data/atomic.js';
import { InputError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import type { NullModel } from './null-model.js';
import { decodeNullModel, encodeNullModelChunks, type NullModelMeta, type SavedNullModel } from './serialize.js';

/**
 * Writes `model` to `path` in lmmkit's null-model format
 * (docs/null-model-format.md), with its samples, trait and covariate names
 * and the caller's input fingerprints. The file appears whole or not at
 * all (written through a temporary sibling, then renamed).
 */
export async function saveNullModel(model: NullModel, path: string, meta: NullModelMeta): Promise<void> {
  await writeAtomically(path, async (append) => {
    for (const chunk of encodeNullModelChunks(model, meta)) await append(chunk);
  });
}

/**
 * Reads a null model written by `saveNullModel`, refusing (with a
 * `NullModelFormatError` naming `path`) another file, another format
 * version, a truncated or altered one. Check its samples against a scan's
 * with `checkNullModelSamples` before scanning.
 */
export async function loadNullModel(path: string, opts: { backend?: Backend } = {}): Promise<SavedNullModel> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError({ file: path }, `cannot read the null model: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeNullModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { backend: opts.backend, source: path });
}
