// Resolve hook: @camunda/form-linting ships bundler-style sources whose relative imports lack
// the ".js" extension, which Node's ESM loader refuses; try the name with ".js" instead.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.startsWith('.')) throw error;
    return nextResolve(`${specifier}.js`, context);
  }
}
