declare module 'asl-validator' {
  /** asl-validator 4: checks an Amazon States Language definition (schemas, transitions, paths). */
  export default function validator(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): { isValid: boolean; errors: { message?: string; 'Error code'?: string; path?: string }[] };
}
