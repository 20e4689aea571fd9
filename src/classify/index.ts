/**
 * The rule language and the class tree classifier, for the configuration loader, the engine and
 * `sluice explain`: compile each class's `match:` with compileRule, build a Classifier from the tree,
 * and per packet fill one MatchContext and ask classifyFlow / classifyPacket.
 */
export { compileRule, listAttributes, type AttributeInfo, type CompiledRule, type RuleTest } from './compile.js';
export { Classifier, type ClassRule } from './classifier.js';
export { MatchContext } from './context.js';
export { RuleError, type RuleErrorCode, type RuleOrigin } from './errors.js';
export {
  AttributeRegistry,
  defaultAttributes,
  registerPacketAttributes,
  type Attribute,
  type AttrScope,
  type AttrType,
} from './attributes.js';
export * from './l7/index.js';
