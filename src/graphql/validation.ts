import { GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Refuses `@skip` and `@include` on a subscription's root fields (directly, or through
 * fragments at the root), as the GraphQL specification asks since its October 2021 edition
 * and graphql-js 17 enforces. graphql-js 16 lets a constant condition through and then fails
 * on a subscription left with no root field (a TypeError: 500); a condition on a variable
 * makes its SingleFieldSubscriptionsRule throw instead of report (HTTP 200 under
 * graphql-response+json). Checked before validation runs, and answered as its result, so
 * that Yoga gives it the 400 and GRAPHQL_VALIDATION_FAILED of any validation error.
 */
export function useSubscriptionRootDirectivesRule(): Plugin {
  return {
    onValidate: ({ params: { documentAST }, setResult }) => {
      const operation = conditionalSubscriptionRoot(documentAST);
      if (operation) {
        setResult([new GraphQLError("A subscription's root field cannot be skipped: @skip and @include are not allowed on it.", { nodes: operation })]);
      }
    },
  };
}

/** The first subscription operation with a conditional root field, if any. */
function conditionalSubscriptionRoot(document: DocumentNode) {
  let fragments: Map<string, FragmentDefinitionNode> | undefined;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== 'subscription') continue;
    fragments ??= new Map(document.definitions.flatMap((node) => (node.kind === Kind.FRAGMENT_DEFINITION ? [[node.name.value, node] as const] : [])));
    if (hasConditionalField(definition.selectionSet, fragments, new Set())) return definition;
  }
  return undefined;
}

function hasConditionalField(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, visited: Set<string>): boolean {
  for (const selection of selectionSet.selections) {
    if (selection.directives?.some((directive) => directive.name.value === 'skip' || directive.name.value === 'include')) return true;
    if (selection.kind === Kind.INLINE_FRAGMENT && hasConditionalField(selection.selectionSet, fragments, visited)) return true;
    if (selection.kind === Kind.FRAGMENT_SPREAD && !visited.has(selection.name.value)) {
      visited.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment && hasConditionalField(fragment.selectionSet, fragments, visited)) return true;
    }
  }
  return false;
}
