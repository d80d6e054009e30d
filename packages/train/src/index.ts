/**
 * @repnets/train: skeleton. Its issue fills it; until then it only proves the
 * package builds and resolves its workspace dependency.
 */
export const packageName = '@repnets/train';
