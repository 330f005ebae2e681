/**
 * Module.save reaches the model-file code through the seam that code installs when it is loaded
 * (the layers cannot import it: it imports them). This file imports the layers alone first, so the
 * seam is empty until it imports io/model-file.ts (vitest gives each test file its own modules).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Linear } from '../../lib/layers/linear.js';

describe('Module.save', () => {
  it('says the file code is not loaded, then saves once it is', async () => {
    const lin = new Linear({ inFeatures: 2, outFeatures: 1, seed: 1 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-save-seam-'));
    try {
      const file = path.join(dir, 'm.safetensors');
      await expect(lin.save(file)).rejects.toMatchObject({
        code: 'ERR_LSTM_STATE', message: expect.stringMatching(/^linear\.save: the model-file code is not loaded; import the package/),
      });
      const { loadModel } = await import('../../lib/io/model-file.js');
      await lin.save(file);
      expect((await loadModel(file)).stateDict()).toEqual(lin.stateDict());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
