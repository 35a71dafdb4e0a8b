import { createContext, useContext } from 'react';
import type { Config } from './api';

export const ConfigContext = createContext<Config | null>(null);
export const useConfig = () => useContext(ConfigContext);
