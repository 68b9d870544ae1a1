"""Protocol peers only the tests and benchmarks use: OpenAI-compatible and Bedrock model servers, fault injectors."""
