import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApolloClient } from './apollo';
import { App } from './App';
import { LiveProvider } from './live';
import { graphqlWebSocketUrl, readApiKey } from './settings';
import { createTransport } from './transport';
import './styles.css';

const apiKey = readApiKey();
const transport = createTransport({ url: graphqlWebSocketUrl(), apiKey });
const client = createApolloClient({ wsClient: transport.wsClient, apiKey });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <LiveProvider transport={transport}>
        <App />
      </LiveProvider>
    </ApolloProvider>
  </StrictMode>,
);
