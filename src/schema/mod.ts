// Public face of src/schema: the predictor signature contract, the OpenAPI
// document builder and the zod input validator derived from a signature.

export * from "./signature.ts";
export {
  buildOpenApiDocument,
  type BuildOpenApiOptions,
  componentNames,
  hasTrainingInput,
  inputSchema,
  isArrayOutput,
  mergeOpenApiDocuments,
  outputSchema,
  type SchemaMode,
  typeFragment,
} from "./openapi.ts";
export {
  createInputValidator,
  FIELD_REQUIRED_MESSAGE,
  type FileInput,
  fileInputs,
  type InputValidator,
  type InputValidatorOptions,
  isFileInputUrl,
  localFileMessage,
  MISSING_ERROR_TYPE,
  ROOT_LOCATION,
  secretInputs,
  type ValidationIssue,
  type ValidationResult,
  VALUE_ERROR_TYPE,
} from "./validate.ts";
export { type InputRules, inputRules } from "./_input_rules.ts";
