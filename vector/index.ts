export { TableError, type TableErrorCode } from './errors.js';
export {
  validateSchema,
  addColumnToSchema,
  type TableSchema,
  type ColumnDef,
  type ColumnType,
  type VectorDef,
  type EmbedderDef,
  type Metric,
} from './schema.js';
export type { Key } from './rows.js';
export type { Filter, RangeBounds } from './filter.js';
export { MemoryChangelog, type Changelog, type ChangeEntry, type ChangeHandler } from './changelog.js';
export { FileChangelog } from './file-changelog.js';
export { HashingEmbedder, createEmbedder, type Embedder, type EmbedderFactory } from './embedder.js';
export { OnnxEmbedder, closeOnnxWorkers } from './embedders/onnx-embedder.js';
export { OpenAiEmbedder } from './embedders/openai-embedder.js';
export type { EmbedderModel } from './embedders/config.js';
export { UseLiteEmbedder, useLiteAvailable, USE_LITE_DIM } from './use-lite-embedder.js';
export { AnnPool } from './ann-pool.js';
export {
  Table,
  type TableOptions,
  type SearchRequest,
  type SearchHit,
  type WriteResult,
  type ScanRequest,
  type ScanPage,
  type TableStats,
  type TableLogger,
} from './table.js';
export { TableStore, type TableStoreOptions, type ChangelogFactory, type TableDescription, type TableTuning } from './store.js';
