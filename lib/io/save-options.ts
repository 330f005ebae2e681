/** The options of `model.save`, apart from the writer so the layers can name them without importing it. */

/** Options of {@link Module.save} and `saveModel`. */
export interface SaveModelOptions {
  /** Extra string metadata kept in the file (keys other than the format's own). */
  metadata?: Record<string, string>;
}
