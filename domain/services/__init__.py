"""Domain services: what machines do through ports that is not itself a machine.

Reading a client's runs (`catalog`), the share's lock marker (`share_lock`), choosing runs and
dumps (`run_choice`), reading configs (`configs`), and streams that hash or count as they pass.
"""
