// Evaluates IAM requests with @cloud-copilot/iam-simulate: one JSON document on stdin, one on stdout.
//
// Input:  {"policies": {name: document}, "requests": [{"id", "principal", "action", "resource",
//          "accountId", "context": {key: value}, "identityPolicies": [name], "resourcePolicy": name | null}]}
// Output: [{"id", "result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error", "detail"}]
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

async function evaluate(request, policies) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.accountId },
      contextVariables: request.context,
    },
    identityPolicies: request.identityPolicies.map((name) => ({ name, policy: policies[name] })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy ? policies[request.resourcePolicy] : undefined,
  }
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    return { id: request.id, result: 'Error', detail: response.errors }
  }
  const ignored = response.result?.ignoredContextKeys ?? []
  return { id: request.id, result: response.overallResult, detail: { ignoredContextKeys: ignored } }
}

const input = await readStdin()
const results = []
for (const request of input.requests) {
  results.push(await evaluate(request, input.policies))
}
process.stdout.write(JSON.stringify(results))
