/**
 * The checkpoint format this version writes (it reads 1 and 2): 2 covers the
 * header by the SHA-256, 1 covered the tensor bytes only. Platform-free, so the
 * loop can name it without the file code.
 */
export const CHECKPOINT_FORMAT = 2;
export const OLDEST_CHECKPOINT_FORMAT = 1;
